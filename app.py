"""The Gradio page: `python app.py` (or `advisor serve`). The package builds it."""

from advisor.page import build_app, launch
from advisor.settings import get_settings

demo = build_app(get_settings())

if __name__ == "__main__":
    launch(get_settings(), demo)
