"""One cataloger per ecosystem: files of an image in, ``Package``s out."""
