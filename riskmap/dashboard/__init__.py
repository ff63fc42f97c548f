"""The dashboard: one self-contained, offline HTML file over every built quarter."""
