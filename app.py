"""Entry point for `python app.py` / `gradio app.py`: the page is built by the package."""

from advisor.page import build_app, launch
from advisor.settings import get_settings

demo = build_app(get_settings())

if __name__ == "__main__":
    launch(get_settings())
