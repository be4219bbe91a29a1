"""Writing datasets: image encoding and the dataset folder. File formats live only here."""
