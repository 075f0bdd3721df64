import streamlit as st
st.title('Tutor')
st.info('This page is being built.')
