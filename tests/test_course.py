"""The course: the tour end to end in English and Korean (its page read in headless
Chromium at a phone's and a desktop's width), the language files and the glossary,
the reports of glassnet.inspect in Korean, captions whose numbers are read from the
picture, the worked examples, and the tour as a notebook executed by a Jupyter kernel."""
import html.parser
import io
import json
import re
import sys
import warnings
from importlib import resources

import numpy as np
import pytest
import tomllib
from PIL import Image

import glassnet as gn
from glassnet import viz
from glassnet.cli import main
from glassnet.course import captions, chapters, run_tour, write_notebook
from glassnet.course.examples import l2_backprop_example, linear_collapse
from glassnet.inspect import compare_dense_conv, explain, summary, trace
from glassnet.lectures import LANGUAGES, fields, fill, glossary, slide, text, translate

PHONE, DESKTOP = 390, 1280

# Latin words a Korean page may hold: code identifiers (layer names and arguments as
# they are typed), the names of methods, programs and data sets, and units.
ALLOWED = {
    "Dense", "Dropout", "Conv2D", "MaxPool2D", "Flatten", "Sequential", "BatchNorm", "Keras",
    "NumPy", "Python", "PyTorch", "glassnet", "Jupyter", "MAC", "input_dim", "activation",
    "softmax", "relu", "tanh", "sigmoid", "ReLU", "Adam", "SGD", "RMSprop", "MSE", "CE", "FL",
    "MLP", "CNN", "RNN", "GEMM", "MNIST", "CS231n", "argmax", "mask", "reshape", "unfold",
    "fold", "unpool", "pool", "max", "sum", "row", "axes", "float32", "float64", "compile",
    "KiB", "MiB", "GiB", "MACs", "FLOPs", "ms", "lr", "He", "dL", "dz", "dY", "dZ",
    "dX", "dW", "db", "dx", "dq", "dP", "df", "det", "same", "VGG"}  # VGG: a network's name


# ... and the English words of the lectures' own Korean titles, quoted as they are
# (편향(Bias), 특징 추출 (Feature Extraction), "Neural Networks: 순전파와 역전파").
ALLOWED |= {word for title in [*text("ko")["slides"].values(), *text("ko")["lectures"].values()]
            for word in re.findall(r"[A-Za-z]+", title)}


class _Text(html.parser.HTMLParser):
    """The words a reader sees, in the page's language: text outside <style>,
    <script> and <title> (and ``hidden`` elements), and outside an element marked as
    another language (lang="en": the glossary's English column)."""

    def __init__(self, hidden=()):
        super().__init__()
        self.parts, self.skip, self.other = [], 0, None
        self.hidden = ("style", "script", "title", *hidden)

    def handle_starttag(self, tag, attrs):
        self.skip += tag in self.hidden
        if ("lang", "en") in attrs and tag != "html":
            self.other = tag

    def handle_endtag(self, tag):
        self.skip -= tag in self.hidden
        if tag == self.other:
            self.other = None

    def handle_data(self, data):
        if not self.skip and self.other is None:
            self.parts.append(data)


def visible_text(page_html, hidden=()):
    parser = _Text(hidden)
    parser.feed(page_html)
    return " ".join(parser.parts)


def english_words(korean):
    """Latin words of two letters or more that are not code, names or units."""
    words = re.findall(r"(?<![A-Za-z0-9_])[A-Za-z][A-Za-z0-9_]*", korean)
    return sorted({w for w in words if len(w) > 1 and w not in ALLOWED        # symbols:
                   and not re.fullmatch(r"[A-Za-z]\d*|[A-Za-z]_[a-z]|[A-Z][a-z]?\d*", w)})


def open_in_chromium(path, widths=(DESKTOP, PHONE), shots=None):
    """Per viewport width: console errors, broken images, whether the page scrolls
    sideways, the elements wider than the column, <pre> blocks that scroll sideways,
    and a full-page screenshot (written to ``shots`` as <width>.png if given)."""
    from playwright.sync_api import sync_playwright
    seen = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            for width in widths:
                page = browser.new_page(viewport={"width": width, "height": 900})
                errors = []
                page.on("console", lambda m, errors=errors:
                        errors.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
                page.goto("file://" + path)
                page.wait_for_load_state("load")
                seen[width] = {
                    "errors": errors,
                    "broken": page.evaluate("[...document.images].filter(i => !i.complete || "
                                            "i.naturalWidth === 0).length"),
                    "sideways": page.evaluate("document.documentElement.scrollWidth > "
                                              "window.innerWidth"),
                    "wider": page.evaluate("""() => {
                        const body = document.body, style = getComputedStyle(body);
                        const box = body.getBoundingClientRect();
                        const left = box.left + parseFloat(style.paddingLeft) - 1;
                        const right = box.right - parseFloat(style.paddingRight) + 1;
                        return [...body.querySelectorAll('*')].filter(e => {
                            const r = e.getBoundingClientRect();
                            return r.width > 0 && (r.left < left || r.right > right);
                        }).map(e => e.tagName + ' ' + Math.round(e.getBoundingClientRect().width))
                          .slice(0, 5); }"""),
                    "scrolling_pre": page.evaluate("[...document.querySelectorAll('pre')]"
                                                   ".filter(p => p.scrollWidth > p.clientWidth + 1)"
                                                   ".length"),
                    "shot": page.screenshot(full_page=False)}
                if shots:
                    page.screenshot(path=str(shots / f"{width}.png"), full_page=True)
        finally:
            browser.close()
    return seen


@pytest.fixture(scope="module")
def english(tmp_path_factory):
    out = tmp_path_factory.mktemp("tour")
    log = io.StringIO()
    path = run_tour(str(out), quick=True, file=log)
    return out, path, log.getvalue(), open(path, encoding="utf-8").read()


@pytest.fixture(scope="module")
def korean(tmp_path_factory):
    out = tmp_path_factory.mktemp("ko")
    log = io.StringIO()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = run_tour(str(out), quick=True, file=log, lang="ko")
    assert not [w for w in caught if "missing from font" in str(w.message)]
    return out, path, log.getvalue(), open(path, encoding="utf-8").read()


# --- the tour end to end ------------------------------------------------------------------
def test_tour_runs_end_to_end_with_the_lectures_numbers(english):
    out, _, log, page = english
    assert "139" in log and "Held-out accuracy" in log and "Report:" in log
    assert "9.99954600e-01" in log and "616,562,688" in log           # the lectures' numbers
    assert "dW = 2q x^T = [[0.088, 0.176], [0.104, 0.208]]" in log
    assert "Epoch 60/60" in log                                         # progress bars
    assert page.count("<section") == len(chapters.CHAPTERS) == 16
    for chapter in chapters.CHAPTERS:
        assert text("en")["chapters"][chapter.__name__]["title"] in page
    assert {p.name for p in out.iterdir()} >= {
        "warp.png", "warp_3d.png", "warp_animation.gif", "warp_3d_animation.gif",
        "boundary_training.gif", "image_to_vector_cnn.png", "choices.png", "losses.png",
        "optimizers.png", "overfitting.png", "backprop.png", "convolution.png",
        "recurrence.png", "attention.png", "index.html"}
    assert "http://" not in page and "https://" not in page             # self-contained
    figures = page.count("<figure>")                 # one per picture the tour saved
    assert figures == len(list(out.glob("*.png"))) >= 21
    assert page.count('<span class="slide">Lecture «') == figures
    assert "seed 00" not in page.lower() and "(animated)" not in page
    assert "O \\times I" not in page and "W^{T} x + b" in page
    assert "Trace of one forward and backward pass" in page


def test_the_page_says_each_thing_once(english, korean):
    for _, _, _, page in (english, korean):
        # each animation once, as a GIF with its still frame for reduced motion
        assert page.count("<picture>") == 3 == page.count("data:image/gif")
        assert page.count('media="(prefers-reduced-motion: no-preference)"') == 3
        # notes that several reports print, once
        for note in ("MACs: one multiply-accumulate", "Units: 1 KiB", "Shape law:",
                     "MACs: 행렬곱의 항", "단위: 1 KiB", "형상의 법칙:"):
            assert page.count(note) <= 1
        assert "Lectures: Lecture" not in page and "강의: 강의" not in page
    assert english[3].count("MACs: one multiply-accumulate") == 1
    assert korean[3].count("MACs: 행렬곱의 항") == 1


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_page_fits_a_phone_and_a_desktop(lang, english, korean):
    _, path, _, _ = english if lang == "en" else korean
    seen = open_in_chromium(path)
    for width, view in seen.items():
        assert view["errors"] == [] and view["broken"] == 0, width
        assert not view["sideways"], f"the page scrolls sideways at {width} px"
        assert view["wider"] == [], f"wider than the column at {width} px: {view['wider']}"
        assert view["scrolling_pre"] == 0, f"a <pre> scrolls sideways at {width} px"
    pixels = np.asarray(Image.open(io.BytesIO(seen[DESKTOP]["shot"])).convert("RGB"))
    assert pixels.std() > 5.0


def test_the_korean_page_is_korean(korean):
    out, _, log, page = korean
    assert '<html lang="ko">' in page and "보고서:" in log
    words = visible_text(page)
    for title in ("왜 행렬 연산인가", "개별 뉴런에서 층(Layer)으로", "데이터의 형상(Shape) 변화",
                  "가중치 행렬의 기하학적 의미", "편향(Bias)의 역할: 문턱 조절", "역전파",
                  "손실 함수", "옵티마이저", "과적합과 정규화", "단원 요약",
                  "순전파와 역전파 한 번의 추적", "Sequential 모델 요약", "파라미터 폭발"):
        assert title in words
    assert page.count('<span class="slide">강의 「') == page.count("<figure>") == \
        len(list(out.glob("*.png")))
    assert english_words(words) == []
    # the glossary's words in all the course writes (the pictures' own words, in
    # <figure>, are glassnet.viz's and checked with the pictures)
    words = visible_text(page, hidden=("figure",))
    for quoted in [*text("ko")["slides"].values(), *text("ko")["lectures"].values()]:
        words = words.replace(quoted, "")             # the lectures' titles, as they are
    for entry in glossary():
        for avoided in entry["avoid"]:
            assert avoided not in words, (entry["en"], avoided)


def test_english_words_are_found_in_korean_text():
    # the checker itself: prose is caught, code and units are not
    assert english_words("가중치 weights를 Dense(8, relu)로, 64 KiB") == ["weights"]
    assert english_words("h1 = x1 w1 + b1, dW = X.T @ dZ") == []


# --- the language files and the glossary --------------------------------------------------
def _templates(table, prefix=""):
    for key, value in table.items():
        if isinstance(value, dict):
            yield from _templates(value, f"{prefix}{key}.")
        elif isinstance(value, str):
            yield f"{prefix}{key}", value


def test_every_language_has_every_sentence_with_the_same_places():
    english = dict(_templates({k: v for k, v in text("en").items() if k != "reports"}))
    for lang in LANGUAGES:
        other = dict(_templates({k: v for k, v in text(lang).items() if k != "reports"}))
        assert set(other) == set(english), lang
        for key, template in english.items():
            assert sorted(fields(other[key])) == sorted(fields(template)), (lang, key)
    for english_line, korean_line in text("ko")["reports"].items():
        assert sorted(fields(english_line)) == sorted(fields(korean_line)), english_line


def test_language_files_hold_words_and_places_only():
    with pytest.raises(ValueError, match="not a plain name"):
        fields("{x.__class__}")
    with pytest.raises(ValueError, match="not a plain name"):
        fields("{x!r}")
    with pytest.raises(KeyError, match="needs share"):
        fill("{share:.0f}%", {})
    for lang in LANGUAGES:
        for _, template in _templates(text(lang)):
            fields(template)                                         # raises if not plain
    packaged = resources.files("glassnet").joinpath("course", "text")
    names = {p.name for p in packaged.iterdir()}
    assert names >= {"en.toml", "ko.toml", "glossary.toml"}
    with open("pyproject.toml", "rb") as f:
        pyproject = tomllib.load(f)
    assert "course/text/*.toml" in pyproject["tool"]["setuptools"]["package-data"]["glassnet"]


def test_the_glossary_is_the_lectures_and_korean_text_follows_it():
    terms = {entry["en"]: entry for entry in glossary()}
    for en, ko in (("forward propagation", "순전파"), ("backpropagation", "역전파"),
                   ("weight", "가중치"), ("bias", "편향"), ("activation function", "활성화 함수"),
                   ("batch", "배치"), ("broadcasting", "브로드캐스팅"), ("shape", "형상"),
                   ("softmax", "소프트맥스"), ("Dropout", "Dropout"), ("slope", "기울기")):
        assert terms[en]["ko"] == ko
    quoted = ("lectures", "slides")               # the lectures' own titles, as they are
    korean = " ".join(template for _, template in
                      _templates({k: v for k, v in text("ko").items() if k not in quoted}))
    for entry in glossary():
        for avoided in entry["avoid"]:
            assert avoided not in korean, (entry["en"], avoided)
    # 기울기 is the slope of a curve only: never next to a gradient's words
    assert "기울기" not in korean.replace("기울기(가파름)", "")


# --- the reports of glassnet.inspect in Korean --------------------------------------------
def _models():
    layer = gn.Sequential([gn.Dense(2, activation="softmax", input_dim=3)], seed=0).build()
    digits = gn.Sequential([gn.Dense(16, activation="relu", input_dim=64), gn.Dropout(0.2),
                            gn.Dense(10, activation="softmax")], seed=0)
    cnn = gn.Sequential([gn.Conv2D(4, 3, activation="relu", padding="same"),
                         gn.MaxPool2D(2), gn.Flatten(), gn.Dense(10, activation="softmax")],
                        input_shape=(8, 8, 1), seed=0)
    return layer, digits, cnn


def test_reports_speak_korean_and_english_stays_as_it_was():
    layer, digits, cnn = _models()
    reports = [summary(layer, 4, lang="ko"), explain(layer, [1.0, 2.0, 3.0], lang="ko"),
               summary(digits, lang="ko"), trace(digits, 32, backward=True, lang="ko"),
               explain(digits, np.ones(64), lang="ko"), summary(cnn, 32, lang="ko"),
               trace(cnn, 32, backward=True, lang="ko"), explain(cnn, np.ones((8, 8, 1)),
                                                                  lang="ko"),
               compare_dense_conv(lang="ko")]
    for report in reports:
        for shown in (report.to_text(), report.to_html(), report.to_markdown()):
            assert english_words(visible_text(shown)) == [], report.title
    assert str(summary(layer, 4)) == summary(layer, 4, lang="ko").to_text(lang="en")
    assert summary(layer, 4, lang="ko").render("json") == summary(layer, 4).render("json")
    assert "파라미터: 8개" in str(reports[0]) and "확률 [" in str(reports[1])
    with pytest.raises(ValueError, match="lang must be one of en, ko"):
        summary(layer, lang="fr")


def test_translation_keeps_what_no_template_matches():
    assert translate("Dense(8, relu)", "ko") == "Dense(8, relu)"
    assert translate("batch 32", "ko") == "배치 32"
    assert translate("batch 32 stays", "ko") == "배치 32 남음"          # the longer template
    assert translate("Memory for a batch of 4 (float32, 4 bytes per value):", "ko") == \
        "샘플 4개의 배치의 메모리 (float32, 값 하나에 4바이트):"
    line = ("  training step: parameters 1 bytes + gradients 1 bytes + optimizer state, Adam "
            "(assumed, not compiled yet), 2 per parameter, 2 bytes + activations kept for "
            "backpropagation 3 bytes = 7 bytes")
    assert "상태(Adam (가정: 아직 compile 전), 파라미터마다 2개)" in translate(line, "ko")
    assert translate("batch 32", "en") == "batch 32"


# --- captions computed from what the picture draws ----------------------------------------
def test_attention_caption_states_the_share_the_picture_draws():
    model, X, y = viz.train_signal_attention(seed=0, epochs=3)
    picks = [int(np.argmax(y == k)) for k in range(3)]
    picture = viz.plot_attention(model, X[picks])
    A, tokens = picture.data["A"], picture.data["tokens"]
    rows = [A[s][t, tokens[s] >= 7].sum() for s in range(len(A)) for t in range(A.shape[-1])]
    for lang in LANGUAGES:
        said = captions.caption("attention", picture, text(lang))
        for number in (np.mean(rows), np.min(rows), np.max(rows)):
            assert f"{100 * number:.0f}%" in said, (lang, said)
        assert f"{100 / A.shape[-1]:.0f}%" in said
    assert "주의의" not in captions.caption("attention", picture, text("ko"))


def test_caption_numbers_follow_the_data():
    A = np.zeros((1, 4, 4))
    A[0, :, 2] = [0.7, 0.5, 0.9, 0.3]                 # token 2 is the signal
    A[0, :, 0] = 1 - A[0, :, 2]
    values = captions.attention({"A": A, "tokens": np.array([[1, 2, 8, 3]])})
    assert values["mean"] == pytest.approx(60) and values["low"] == pytest.approx(30)
    assert values["high"] == pytest.approx(90) and values["uniform"] == 25
    lag = captions.overfitting({"inference_loss": [4, 4, 4, 4, 3.0, 1], "batch_loss":
                                [1, 1, 1, 1, 2.0, 0.5], "best_epoch": 3, "stopped_epoch": 6})
    assert lag["lag"] == 1.5 and lag["last_lag"] == 2 and lag["epochs"] == 6
    paths = {"SGD (lr 0.9)": np.array([[-9, 1.6], [-8, -1], [-7.5, 0.5]]),
             "Momentum (lr 0.5, 0.9)": np.array([[-9, 1.6], [2.5, 0], [1, 0]])}
    moved = captions.optimizers({"paths": paths})
    assert moved["steps"] == 2 and moved["sgd_w1"] == -7.5 and moved["overshoot"] == 2.5
    said = captions.caption("optimizers", type("P", (), {"data": {"paths": paths}}),
                            text("ko"))
    assert "w1 방향(가로)" in said and "w2 방향(세로)" in said   # the axes as drawn


# --- the worked examples --------------------------------------------------------------------
def test_linear_layers_without_activation_collapse_into_one():
    said, gap = linear_collapse()
    assert gap < 1e-12 and "depth adds nothing" in said and f"{gap:.1e}" in said
    assert "층을 쌓아도" in linear_collapse(lang="ko")[0]


def test_seed_002_l2_example_is_backpropagated_by_a_dense_layer():
    said, v = l2_backprop_example()
    np.testing.assert_allclose(v["q"], [0.22, 0.26])
    assert v["f"] == pytest.approx(0.116)
    np.testing.assert_allclose(v["dW"], [[0.088, 0.176], [0.104, 0.208]])   # 2q x^T
    np.testing.assert_allclose(v["dx"], [-0.112, 0.636])                    # W^T 2q
    np.testing.assert_allclose(v["numeric_dW"], v["dW"], rtol=1e-6)
    assert "dW = 2q x^T = [[0.088, 0.176], [0.104, 0.208]]" in said
    assert "역전파: df/dq = 2q" in l2_backprop_example(lang="ko")[0]
    rng = np.random.default_rng(0)                                      # any W, x
    W, x = rng.normal(size=(3, 4)), rng.normal(size=4)
    _, v = l2_backprop_example(W, x)
    np.testing.assert_allclose(v["dW"], np.outer(2 * W @ x, x), rtol=1e-12)
    np.testing.assert_allclose(v["dx"], W.T @ (2 * W @ x), rtol=1e-12)


def test_slides_are_named_by_title():
    assert slide("colour_matmul") == ("Lecture «The voyage of information: how data passes "
                                      "through a network», slide 6 «Where the input vector "
                                      "meets the weight matrix»")


# --- the tour as a notebook -----------------------------------------------------------------
def test_the_notebook_is_the_chapters_code(tmp_path, capsys):
    assert main(["tour", "--notebook", "--lang", "ko", "--out", str(tmp_path)]) == 0
    assert "노트북:" in capsys.readouterr().out
    book = json.loads((tmp_path / "tour.ipynb").read_text(encoding="utf-8"))
    code = [c["source"] for c in book["cells"] if c["cell_type"] == "code"]
    markdown = "\n".join(c["source"] for c in book["cells"] if c["cell_type"] == "markdown")
    assert "## 1. 왜 행렬 연산인가?" in markdown and "lang='ko'" in code[0]
    assert all(not c.get("outputs") for c in book["cells"] if c["cell_type"] == "code")
    assert "data:image" not in json.dumps(book)               # pictures are calls, not images
    assert any("viz.plot_attention(" in c for c in code)
    assert len(code) == 1 + sum(1 for c in chapters.CHAPTERS if c.__name__ != "recap")


def test_the_notebook_runs_top_to_bottom_in_a_kernel(tmp_path, monkeypatch):
    import nbclient
    import nbformat
    # a kernel that is this Python (the project's environment), found in a folder of its own
    kernels = tmp_path / "jupyter" / "kernels" / "glassnet-test"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "glassnet (test)", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    path = write_notebook(str(tmp_path / "tour.ipynb"), quick=True)
    book = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(book, kernel_name="glassnet-test", timeout=600,
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in book.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 16
    shown = " ".join(o.get("data", {}).get("text/markdown", "") for o in outputs)
    assert "Held-out accuracy on the digits" in shown and "attention on the signal" in shown


def test_korean_tables_line_up_on_a_terminal():
    from glassnet.inspect.report import _width
    _, digits, _ = _models()
    lines = summary(digits, 32, lang="ko").to_text().splitlines()
    table = lines[2:lines.index(lines[3], 4) + 1]            # header, rule, rows, rule
    assert "층" in table[0] and len(table) >= 5
    assert len({_width(line) for line in table}) == 1        # every row as wide as the rule
    assert _width("층 ab") == 5 and _width("ab") == 2
