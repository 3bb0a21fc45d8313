"""The Gradio page (a retrieval preview until the chat issue lands)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.settings import Settings

if TYPE_CHECKING:
    import gradio as gr


def build_app(settings: Settings) -> gr.Blocks:
    """Build the page; it holds no logic, it only calls the package."""
    import gradio as gr

    from advisor.retrieve import Retriever
    from advisor.text import QuestionError

    retriever: Retriever | None = None

    def respond(question: str) -> str:
        nonlocal retriever
        try:
            retriever = retriever or Retriever(settings)
            hits = retriever.search(question).hits
        except QuestionError as error:
            return str(error)
        return "\n\n".join(
            f"**{h.chunk.title}** — {h.chunk.section}\n\n{h.chunk.text}" for h in hits
        )

    with gr.Blocks(title="Career Advisor") as demo:
        gr.Markdown("# Career Advisor\nSearch the career articles (answers arrive with the chat).")
        question = gr.Textbox(label="Question")
        answer = gr.Markdown()
        question.submit(respond, question, answer)
    return demo


def launch(settings: Settings) -> None:
    build_app(settings).queue(default_concurrency_limit=4).launch(
        server_name=settings.host, server_port=settings.port, show_error=False
    )
