"""One cataloger per ecosystem; each module exposes its ``Cataloger`` instances (see ``cataloger.py``).

Language modules (``python``, ``javascript``, ``golang``, ``java``, ``ruby``, ``rust``, ``dotnet``,
``php``, ``runtimes``) also expose their pure parsers: bytes and a ``Location`` in, ``Parsed`` out.
"""
