"""Colours for label classes: one colour-blind-safe palette, used wherever a class colour is
suggested. Okabe & Ito's eight colours (without black, which a box outline on a dark photo
loses) followed by Paul Tol's "vibrant" set: distinguishable with the common colour-vision
deficiencies, and each with a text colour that reads on it."""

CLASS_PALETTE = (
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#F0E442",  # yellow
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#EE7733",  # Tol vibrant: orange
    "#0077BB",  # blue
    "#33BBEE",  # cyan
    "#EE3377",  # magenta
    "#CC3311",  # red
    "#009988",  # teal
    "#BBBBBB",  # grey
)
