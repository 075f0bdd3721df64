import streamlit as st
st.title('Train')
st.info('This page is being built.')
