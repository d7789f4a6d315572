"""Infrastructure every stage uses: typed configs (`config`), append-only CSV logs (`csvlog`) and the names and
units of their columns (`schema`), device and core choices (`devices`), and the provenance recorded beside results
(`provenance`)."""
