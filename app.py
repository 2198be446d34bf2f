"""Form Coach dashboard: `streamlit run app.py`.

The entry file is a router: page config, logging, session defaults and `st.navigation`. Pages
are thin (widgets -> one coach call -> render); everything heavy lives in coach/.
"""

from __future__ import annotations

import logging
import os

import streamlit as st

from pages import ui

# MediaPipe's C++ logging is noise on the console (the entry point, not the library, decides that)
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _setup_logging() -> None:
    """coach.* logs go to the server console once (Streamlit reruns this file on every interaction)."""
    logger = logging.getLogger("coach")
    if not any(getattr(h, "_form_coach", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._form_coach = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


# key -> factory of its initial value (a fresh object per session)
SESSION_DEFAULTS = {
    "analyses": dict,  # "<content hash>:<reference id or auto>" -> {"bundle", "video"}: no re-run on rerender
}

_setup_logging()
st.set_page_config(page_title="Form Coach", page_icon=":material/fitness_center:", layout="wide")
ui.warm_up()
for _key, _factory in SESSION_DEFAULTS.items():
    if _key not in st.session_state:
        st.session_state[_key] = _factory()

RESULT_PAGE = st.Page("pages/result.py", title="Shared result", icon=":material/share:", url_path="result")

if "result" in st.query_params:
    # a shared link shows that one result and nothing else: no other page, no sidebar
    st.navigation([RESULT_PAGE], position="hidden").run()
else:
    pages = [
        st.Page("pages/analyze.py", title="Analyze", icon=":material/analytics:", default=True),
        st.Page("pages/live.py", title="Live coach", icon=":material/videocam:", url_path="live"),
        st.Page("pages/progress.py", title="Progress", icon=":material/trending_up:", url_path="progress"),
        st.Page("pages/references.py", title="References", icon=":material/video_library:"),
    ]
    st.navigation(pages).run()
