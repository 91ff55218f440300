"""Version schemes: deb, rpm, apk, PEP 440, semver/npm, maven, go, gem, nuget, composer (core)."""
