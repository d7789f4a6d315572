"""What a run hands to a paper or a deployment: figures drawn from the CSV outputs (`plot`) and export bundles of
trained networks (`export`)."""
