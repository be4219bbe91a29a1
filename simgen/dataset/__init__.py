"""The dataset on disk, in one package: its layout and names (layout.py), writing it (writer.py,
images.py, links.py), reading it back (reader.py) and reading foreign COCO datasets
(coco_source.py). No other module spells a dataset path or format id."""
