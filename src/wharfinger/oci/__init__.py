"""Image references, manifests, the registry client, image sources and the blob cache (edge, with pure data modules)."""
