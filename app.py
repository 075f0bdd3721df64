"""ScienceQA Tutor Studio: the entry point. Run with `make run` (or `streamlit run app.py`).

It only names the pages, so the navigation's first entry reads "Home" (a page's label otherwise comes
from its file name): Home.py is the home page, views/ the rest, each a thin view over `core` (the
folder is not called pages/, which Streamlit would also read as a navigation of its own). In public
mode it first hides uncaught exceptions' details (admin_ui.hide_error_details).
"""

from pathlib import Path

import streamlit as st

import admin_ui

admin_ui.hide_error_details()  # public mode: no page shows an exception's text or traceback

ROOT = Path(__file__).resolve().parent
PAGES = [
    st.Page(ROOT / "Home.py", title="Home", icon=":material/home:", default=True),
    st.Page(ROOT / "views" / "1_Data.py", title="Data", icon=":material/dataset:"),
    st.Page(ROOT / "views" / "2_Models.py", title="Models", icon=":material/neurology:"),
    st.Page(ROOT / "views" / "3_Train.py", title="Train", icon=":material/exercise:"),
    st.Page(ROOT / "views" / "4_Compare.py", title="Compare", icon=":material/compare:"),
    st.Page(ROOT / "views" / "5_Tutor.py", title="Tutor", icon=":material/school:"),
    st.Page(ROOT / "views" / "6_Practice.py", title="Practice", icon=":material/quiz:"),
]

st.navigation(PAGES).run()
