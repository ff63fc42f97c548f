"""The levels and methods the model commands offer, importable without the models' libraries
(so the command line can list them without loading geopandas, esda or scikit-learn)."""

AREA_LEVELS = ("buurt", "wijk")
GRID_LEVELS = {"grid100": 100, "grid500": 500}
LEVELS = (*AREA_LEVELS, *GRID_LEVELS)
METHODS = ("gi_star", "local_moran")
