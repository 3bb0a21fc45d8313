// Career Advisor page behaviour: citation chips, scrolling to a new answer, the
// character counter and Copy. Everything is delegated from `document`, because
// Gradio renders (and re-renders) the chat after this script has run.
(() => {
  // A chip (or a bar of a pay chart) opens the card of its own answer, passage marked.
  function openSource(value) {
    const [target, n] = value.split(":");  // "m3-s1:2": card s1 of message 3, source 2
    const card = document.getElementById(target);
    if (!card) return;
    card.open = true;
    for (const passage of card.querySelectorAll(".source-passage")) {
      passage.classList.toggle("active", passage.id === `${target}-p${n}`);
    }
    card.scrollIntoView({ block: "nearest" });
    card.querySelector("summary").focus({ preventScroll: true });
  }
  document.addEventListener("click", (event) => {
    const chip = event.target.closest && event.target.closest("button.cite");
    if (!chip) return;
    event.preventDefault();
    openSource(chip.value);
  });

  // Pay charts (Plotly, drawn by Gradio): a click on a bar opens its source card; each bar
  // is focusable, and focusing it shows the same hover label (the source sentence).
  const decode = (text) => {
    const box = document.createElement("textarea");
    box.innerHTML = text;  // a textarea's content is never parsed as markup
    return box.value;
  };
  function focusableBars(plot) {
    for (const group of plot.querySelectorAll("g.trace.bars")) {
      const trace = group.__data__ && group.__data__[0] && group.__data__[0].trace;
      if (!trace || !trace.customdata) continue;
      const subplot = `${trace.xaxis}${trace.yaxis}`;
      for (const point of group.querySelectorAll("g.point")) {
        const bar = point.querySelector("path");
        const i = point.__data__ && point.__data__.i;
        if (!bar || i === undefined || bar.hasAttribute("tabindex")) continue;
        const [target, , label, value] = trace.customdata[i];
        bar.setAttribute("tabindex", "0");
        bar.setAttribute("role", "button");
        bar.setAttribute("aria-label", `${decode(label)}: ${decode(value)}. Opens its source.`);
        bar.addEventListener("focus", () => {
          pinned = null;  // the student is reading the chart: the answer stays where it is
          if (window.Plotly) window.Plotly.Fx.hover(plot, [{ curveNumber: trace.index, pointNumber: i }], subplot);
        });
        bar.addEventListener("blur", () => { if (window.Plotly) window.Plotly.Fx.unhover(plot); });
        bar.addEventListener("keydown", (event) => {
          if (event.key !== "Enter" && event.key !== " ") return;
          event.preventDefault();
          openSource(target);
        });
      }
    }
  }
  const CHART_LABEL = "Pay at a glance: a bar for each pay figure in this answer, labelled " +
    "with who reported it and when. The same figures are in the table below.";
  function hookCharts() {
    // The chat labels a chart's box "a component of type plot" (on a div, where a label
    // needs a role), and the box "Empty value" until plotly.js has drawn it.
    for (const box of document.querySelectorAll('#chat .component > [data-testid="bot"]:not([role])')) {
      box.setAttribute("role", "figure");
      box.setAttribute("aria-label", CHART_LABEL);
    }
    for (const empty of document.querySelectorAll("#chat .component .empty[aria-label]:not([role])")) {
      empty.setAttribute("role", "img");
      empty.setAttribute("aria-label", "The chart is being drawn");
    }
    for (const plot of document.querySelectorAll("#chat .js-plotly-plot")) {
      if (!plot.advisorHooked && typeof plot.on === "function") {
        plot.advisorHooked = true;
        plot.on("plotly_click", (event) => {
          const point = event.points && event.points[0];
          if (point && point.customdata) openSource(point.customdata[0]);
        });
        plot.on("plotly_afterplot", () => focusableBars(plot));
      }
      focusableBars(plot);
    }
  }

  // Escape hides an open preview (WCAG 1.4.13); it comes back on the next focus or hover.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    const wrap = document.activeElement && document.activeElement.closest(".cite-wrap");
    if (wrap) wrap.classList.add("tip-off");
  });
  // A preview stays inside the window: shifted left when the chip is near the right edge.
  const tipBack = (event) => {
    const wrap = event.target.closest && event.target.closest(".cite-wrap");
    if (!wrap) return;
    wrap.classList.remove("tip-off");
    const tip = wrap.querySelector(".cite-tip");
    if (!tip) return;
    tip.style.left = "0px";
    requestAnimationFrame(() => {
      const overflow = tip.getBoundingClientRect().right - (window.innerWidth - 8);
      if (overflow > 0) tip.style.left = `${-overflow}px`;
    });
  };
  document.addEventListener("focusin", tipBack);
  document.addEventListener("focusout", tipBack);
  document.addEventListener("mouseover", tipBack);

  // Character counter under the composer: shown near the limit, with what to do over it.
  function updateCounter() {
    const box = document.getElementById("char-count");
    const field = document.querySelector("#question textarea");
    if (!box || !field) return;
    const limit = Number(box.dataset.limit);
    const n = field.value.length;
    let text = "";
    let state = "";
    if (n > limit) {
      text = `${n.toLocaleString("en")} / ${limit.toLocaleString("en")} characters: ` +
        `${(n - limit).toLocaleString("en")} too many. Shorten the question to ask it.`;
      state = "over";
    } else if (n >= limit * 0.8) {
      text = `${n.toLocaleString("en")} / ${limit.toLocaleString("en")} characters`;
      state = "near";
    }
    if (box.textContent !== text) box.textContent = text;
    if (box.className !== state) box.className = state;
  }
  document.addEventListener("input", (event) => {
    if (event.target.closest && event.target.closest("#question")) updateCounter();
  });

  // A new exchange scrolls to its start (the question, then the answer's lead),
  // never to the end of a long answer.
  let seen = 0;
  let tips = 0;
  // The chat's sanitizer drops aria-* attributes, so chips are tied to their previews here.
  function describeChips() {
    for (const chip of document.querySelectorAll("#chat button.cite:not([aria-describedby])")) {
      const tip = chip.parentElement.querySelector(".cite-tip");
      if (!tip) continue;
      if (!tip.id) tip.id = `cite-tip-${++tips}`;
      chip.setAttribute("aria-describedby", tip.id);
    }
  }
  // The question stays at the top while its answer grows below it (at first there is
  // nothing below to scroll to), until the student scrolls or the answer is done.
  let pinned = null;
  const unpin = () => { pinned = null; };
  for (const type of ["wheel", "touchmove", "keydown"]) {
    document.addEventListener(type, unpin, { passive: true });
  }
  // The controls follow the turn the server reports in #turn (one marker, not an update
  // per button): Ask is off while answering; page.css shows Stop, Retry, Copy, New chat
  // and the suggestions from body[data-turn]; a suggestion with no text is hidden.
  function applyTurn() {
    const marker = document.querySelector("#turn [data-turn]");
    const turn = marker ? marker.dataset.turn : "";
    if (document.body.dataset.turn !== turn) document.body.dataset.turn = turn;
    const ask = document.getElementById("ask");
    if (ask && ask.disabled !== (turn === "busy")) ask.disabled = turn === "busy";
    for (const chip of document.querySelectorAll("#suggestions .chip")) {
      const empty = !chip.textContent.trim();
      if (chip.hidden !== empty) chip.hidden = empty;
    }
  }
  function onChange() {
    applyTurn();
    describeChips();
    hookCharts();
    const users = document.querySelectorAll('#chat [data-testid="user"]');
    if (users.length > seen) pinned = users[users.length - 1];
    if (pinned && pinned.isConnected) pinned.scrollIntoView({ block: "start" });
    seen = users.length;
    updateCounter();
  }

  // Copy: the latest answer as plain text, with [n] markers and without previews.
  function plainText(node) {
    const lines = [];
    for (const block of node.children) {
      const clone = block.cloneNode(true);
      for (const tip of clone.querySelectorAll(".cite-tip")) tip.remove();
      for (const chip of clone.querySelectorAll("button.cite")) {
        chip.replaceWith(`[${chip.value.split(":")[1]}]`);
      }
      if (clone.tagName === "UL") {
        for (const item of clone.querySelectorAll("li")) lines.push(`- ${item.textContent}`);
      } else {
        lines.push(clone.textContent);
      }
    }
    return lines.join("\n");
  }
  window.advisorCopyLastAnswer = async () => {
    const answers = document.querySelectorAll("#chat .answer-text");
    const button = document.getElementById("copy");
    if (!answers.length) return;
    const text = plainText(answers[answers.length - 1]);
    let done = "Copied";
    try {
      await navigator.clipboard.writeText(text);
    } catch (error) {
      done = "Copy failed";
    }
    if (button) {
      button.textContent = done;
      setTimeout(() => { button.textContent = "Copy"; }, 1500);
    }
  };

  const start = () => new MutationObserver(onChange).observe(document.body, {
    childList: true, subtree: true, characterData: true,  // a suggestion's new text
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
