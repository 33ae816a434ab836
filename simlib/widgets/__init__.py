"""ipywidgets dashboards composed from the engines and ``simlib.viz`` (JupyterLab and Voila)."""

__all__: list[str] = []
