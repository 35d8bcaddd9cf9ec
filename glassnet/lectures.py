"""The five lecture notes glassnet follows, and the languages it speaks.

Every picture and every section of the tour names the lecture and the slide (or
section) it belongs to, by the lecture's own title, so that a student who reads the
notes finds the same idea here, and the reverse. glassnet speaks English or Korean,
the lectures' own language. The words of each language are data shipped with the
package (``glassnet/course/text/en.toml``, ``ko.toml`` and ``glossary.toml``), so a
translator never edits code: ``text(lang)`` is one language's table, ``fill`` puts
numbers into one of its sentences, ``translate`` turns an English line of a report
into the language by the catalogue of its templates, and ``glossary()`` is the one
list of the lectures' own terms."""
import functools
import re
import string
from importlib import resources

import tomllib

LANGUAGES = ("en", "ko")

LECTURES = {   # key: (English title, Korean title)
    "voyage": ("The voyage of information: how data passes through a network",
               "정보의 항해: 데이터는 신경망을 어떻게 통과하는가?"),
    "matmul": ("07-03 Understanding neural networks through matrix products",
               "07-03 행렬곱으로 이해하는 신경망"),
    "networks": ("Neural Networks: forward and back propagation",
                 "Neural Networks: 순전파와 역전파"),
    "basics": ("Deep learning basics: from linear models to backpropagation",
               "딥러닝 기초 - 선형모델부터 역전파까지"),
    "architectures": ("The mathematics of neural networks and their architectures",
                      "신경망(Neural Network)의 수학적 이해와 아키텍처 심화 분석"),
}

SLIDES = {     # key: (lecture, "slide 6" / "§3" numbering, English name, Korean name)
    "intro": ("voyage", 2, "Hundreds of millions of parameters: how are they computed "
              "at once?", "도입: 수억 개의 파라미터, 계산은 어떻게 한꺼번에?"),
    "neuron_to_layer": ("voyage", 3, "From a single neuron to a layer",
                        "개별 뉴런에서 층(Layer)으로"),
    "weighted_sum": ("voyage", 4, "The weighted sum again: z = Wx + b",
                     "가중치 합 다시 보기: z = Wx + b"),
    "why_matrices": ("voyage", 5, "Why matrix operations?", "왜 행렬 연산인가?"),
    "colour_matmul": ("voyage", 6, "Where the input vector meets the weight matrix",
                      "입력 벡터와 가중치 행렬의 만남"),
    "shapes": ("voyage", 7, "How the data's shape changes", "데이터의 형상(Shape) 변화"),
    "geometry": ("voyage", 8, "The geometric meaning of the weight matrix",
                 "가중치 행렬의 기하학적 의미"),
    "features": ("voyage", 9, "Feature extraction", "특징 추출 (Feature Extraction)"),
    "bias": ("voyage", 10, "The role of the bias: setting the threshold",
             "편향(Bias)의 역할: 문턱 조절"),
    "chain": ("voyage", 11, "The flow through several layers", "다층 구조의 연산 흐름"),
    "batch": ("voyage", 12, "Parallel processing and the batch",
              "병렬 처리와 배치(Batch)의 개념"),
    "explosion": ("voyage", 13, "The limit of fully connected layers: parameter explosion",
                  "완전 연결 층의 한계: 파라미터 폭발"),
    "image_to_vector": ("voyage", 14, "Seeing the result: image -> abstract vector",
                        "연산 결과 시각화: 이미지 → 추상 벡터"),
    "summary": ("voyage", 15, "Summary: the heart of forward propagation",
                "단원 요약: 순전파의 핵심"),
    "matmul_forward": ("matmul", 2, "Forward propagation as a matrix product",
                       "행렬곱으로 순전파 이해하기"),
    "matmul_batch": ("matmul", 3, "Parallel computation as a matrix product",
                     "행렬곱으로 병렬 연산 이해하기"),
    "matmul_mlp": ("matmul", 4, "A multi-layer perceptron's forward pass as matrix products",
                   "행렬곱으로 다층 퍼셉트론의 순전파 이해하기"),
    "nn_nonlinear": ("networks", 1, "Neural Networks", "Neural Networks"),
    "nn_backward": ("networks", 3, "Back Propagation", "Back Propagation"),
    "nn_example": ("networks", 4, "A worked example", "Neural Network 예시"),
    "nn_activations": ("networks", 5, "Common non-linear functions",
                       "비선형 함수에 많이 쓰이는 종류"),
    "softmax": ("basics", "softmax", "The softmax operation", "소프트맥스(softmax) 연산"),
    "activation": ("basics", "activation", "Activation functions",
                   "활성함수(activation function)"),
    "backprop": ("basics", "backprop", "How backpropagation works",
                 "역전파 알고리즘 원리 이해하기"),
    "approximation": ("architectures", 2, "The universal approximation theorem",
                      "Universal Approximation Theorem (보편 근사 정리)"),
    "chain_rule": ("architectures", 3, "The mathematics of backpropagation",
                   "역전파(Backpropagation)의 수학적 구조"),
    "regularisation": ("architectures", 4, "Overfitting and regularisation",
                       "과적합과 정규화 기법"),
    "limits": ("architectures", 5, "The limits of the MLP", "신경망의 한계와 구조적 대응"),
    "architectures": ("architectures", 6, "Extending the architecture: CNN, RNN, "
                      "Transformer", "딥러닝 구조 확장 원리"),
    "losses_optimisers": ("architectures", 7, "Training: loss functions and optimisers",
                          "학습 최적화: 손실 함수와 옵티마이저"),
    "hyperparameters": ("architectures", 8, "Hyperparameters in practice",
                        "실전 설계 시 고려해야 할 하이퍼파라미터"),
}


def check_language(lang, where):
    """``lang`` if glassnet speaks it, else a ValueError that says which it speaks."""
    if lang not in LANGUAGES:
        raise ValueError(f"{where}: lang must be one of {', '.join(LANGUAGES)} (English, "
                         f"Korean), got {lang!r}.")
    return lang


def words(lang):
    """A function choosing between an English and a Korean text: ``t(en, ko)``."""
    check_language(lang, "words")
    return (lambda en, ko: ko) if lang == "ko" else (lambda en, ko: en)


def slide(key, lang="en"):
    """Where an idea lives in the lectures: the lecture's title and the slide's (or
    section's) name, e.g. Lecture «The voyage of information: ...», slide 6 «...»."""
    lecture, number, en, ko = SLIDES[key]
    t = words(lang)
    title = LECTURES[lecture][1 if lang == "ko" else 0]
    if isinstance(number, int):
        place = t(f"slide {number}", f"슬라이드 {number}") if lecture == "voyage" else \
            t(f"section {number}", f"{number}절")
    else:
        place = t("section", "절")
    return t(f"Lecture «{title}», {place} «{en}»", f"강의 「{title}」 {place} 「{ko}」")


def _data(name):
    """One of the language files shipped in glassnet/course/text/ (read as data: the
    course package itself is not imported)."""
    path = resources.files("glassnet").joinpath("course", "text", name)
    with path.open("rb") as f:
        return tomllib.load(f)


@functools.cache
def text(lang):
    """The words of one language: a nested dict read from ``course/text/<lang>.toml``."""
    check_language(lang, "text")
    return _data(f"{lang}.toml")


@functools.cache
def glossary():
    """The lectures' own terms: a list of dicts with ``en``, ``ko`` (the one Korean word
    used everywhere), ``avoid`` (Korean forms never used for it) and ``note``."""
    return _data("glossary.toml")["term"]


def term(en, lang="ko"):
    """The word for a concept (named by its English word) in ``lang``."""
    for entry in glossary():
        if entry["en"] == en:
            return entry[lang]
    raise KeyError(f"term: {en!r} is not in glassnet/course/text/glossary.toml; add it there.")


def fields(template):
    """The names a template fills, e.g. ['share', 'uniform'] for '{share:.0f}% of
    {uniform}'. Only plain names are allowed (no attribute or index lookups, no
    conversions): a language file holds words and places for numbers, nothing else."""
    names = []
    for _, name, _, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if not name.isidentifier() or conversion:
            raise ValueError(f"language file: {{{name}}} in {template[:60]!r} is not a plain "
                             f"name; write {{name}} or {{name:.1f}}.")
        names.append(name)
    return names


def fill(template, values, where="text"):
    """``template`` with its {name} places filled from ``values``; a missing value is
    an error that names the template."""
    missing = [name for name in fields(template) if name not in values]
    if missing:
        raise KeyError(f"{where}: the text needs {', '.join(missing)}, which were not given "
                       f"(template {template[:60]!r}).")
    return template.format(**{name: values[name] for name in fields(template)})


@functools.cache
def _patterns(lang):
    """The catalogue of report lines, as (regex, English names, translated template),
    the most specific template (most fixed characters) first."""
    out = []
    for english, translated in text(lang).get("reports", {}).items():
        names, parts = [], []
        for literal, name, spec, _ in string.Formatter().parse(english):
            parts.append(re.escape(literal))
            if name is not None:
                fields(english), fields(translated)
                group = f"f{len(names)}"
                parts.append(f"(?P<{group}>(?:[^()]|\\([^()]*\\))+?)")   # ( ) kept whole
                names.append(name)
        fixed = len(re.sub(r"\{[^}]*\}", "", english))
        out.append((fixed, re.compile("".join(parts) + r"\Z", re.DOTALL), names, translated))
    out.sort(key=lambda row: -row[0])
    return [row[1:] for row in out]


def translate(line, lang, depth=0):
    """One English line of a report in ``lang``: the first template of the language's
    ``[reports]`` catalogue that matches the whole line, its places filled with the
    matched parts (each translated in turn); a line no template matches (a layer's
    name, a shape, a number) is returned as it is."""
    if lang == "en" or depth > 6 or not isinstance(line, str) or not line.strip():
        return line
    for pattern, names, translated in _patterns(lang):
        found = pattern.match(line)
        if found:
            values = {name: translate(found.group(f"f{k}"), lang, depth + 1)
                      for k, name in enumerate(names)}
            return translated.format(**values)
    return line
