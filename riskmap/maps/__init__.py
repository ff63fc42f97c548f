"""Interactive (folium) and static (matplotlib) maps."""
