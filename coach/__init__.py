"""Form Coach: compare an exercise performance with a reference performer.

The library never imports streamlit; `app.py` and `pages/` are the only UI code.
"""

__version__ = "0.1.0"
