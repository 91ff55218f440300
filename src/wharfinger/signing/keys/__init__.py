"""Key providers behind one ``Signer`` interface: file (PEM), PKCS#11, Azure Key Vault, AWS KMS."""
