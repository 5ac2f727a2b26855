"""The first-run guide: the privacy promise, the data folder, this computer, a first model.

`guide` is the wizard; `pages` its pages and what it needs from the app; `workers` the guide's
background work (looking at the hardware, asking the Hub).
"""
