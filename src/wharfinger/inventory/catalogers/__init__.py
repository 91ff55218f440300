"""One cataloger per ecosystem; each module exposes one ``Cataloger`` instance (see ``cataloger.py``)."""
