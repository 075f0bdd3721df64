"""ScienceQA Tutor Studio: the product. Data, prompt formats, models, training, evaluation, chat.

Plain Python + torch. Never imports streamlit or gradio: pages and the tutor front ends are views
over this package, and everything they do also runs as `python -m core <command>`.
"""

__version__ = "0.1.0"
