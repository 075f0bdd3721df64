"""ScienceQA Tutor Studio: home page. Run with `make run` (or `streamlit run app.py`)."""

import streamlit as st

st.set_page_config(page_title="ScienceQA Tutor Studio", page_icon="🔬", layout="wide")

st.title("🔬 ScienceQA Tutor Studio")
st.markdown(
    "Turn a small **nanochat** model into a science tutor for school students by fine-tuning it on "
    "**ScienceQA** (21,208 multiple-choice science questions with lectures and explanations, grades 1-12)."
)

cols = st.columns(5)
for col, (page, label, text) in zip(cols, [
    ("pages/1_Data.py", "📚 Data", "Browse, filter and subset ScienceQA; see the conversation each row becomes."),
    ("pages/2_Models.py", "🧠 Models", "Base models: nanochat checkpoints from the Hub, local folders, the tiny preset."),
    ("pages/3_Train.py", "🏋️ Train", "Fine-tune in the background; live loss curves; stop, resume, compare runs."),
    ("pages/4_Compare.py", "⚖️ Compare", "Base vs fine-tuned, with leaderboard-comparable numbers."),
    ("pages/5_Tutor.py", "💬 Tutor", "Chat with the tutor; share it with a class through a link."),
]):
    with col.container(border=True):
        st.page_link(page, label=label)
        st.caption(text)
