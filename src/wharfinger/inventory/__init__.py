"""What is inside an image: layers as a filesystem and one cataloger per ecosystem (core)."""
