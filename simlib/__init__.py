"""simlib: a course on distributed training that runs for real.

Two engines and what is built on them:

- ``simlib.engine``: JAX really trains a model across devices (imports JAX, lazily).
- ``simlib.sim``: a discrete-event simulator of clusters (SimPy), with exact closed forms.
- ``simlib.viz`` and ``simlib.widgets``: figures and dashboards from their reports.
- ``simlib.quiz``: question banks and flashcards whose numbers come from the engines.

``import simlib`` is fast: it imports none of these until they are used.
"""

from simlib.errors import ConfigError, DeviceError, SimlibError

__version__ = "0.1.0"

__all__ = ["ConfigError", "DeviceError", "SimlibError", "__version__"]
