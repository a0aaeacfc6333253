"""Costing: whole-pathway cost per patient, top-down (PLICS, ``plics``) and bottom-up (TDABC, ``tdabc``)."""
