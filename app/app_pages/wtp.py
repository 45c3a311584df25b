import streamlit as st

st.title("wtp")
