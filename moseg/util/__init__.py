"""Infrastructure every stage uses: typed configs (`config`), append-only CSV logs (`csvlog`), device and core
choices (`devices`), and the provenance recorded beside results (`provenance`)."""
