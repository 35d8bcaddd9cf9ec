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

LECTURES = ("voyage", "matmul", "networks", "basics", "architectures")   # in order;
# their titles, and the names of their slides, are in the language files ([lectures], [slides]).
SLIDES = {     # key: (lecture, slide number in "voyage", section number elsewhere, or a name)
    "intro": ("voyage", 2),
    "neuron_to_layer": ("voyage", 3),
    "weighted_sum": ("voyage", 4),
    "why_matrices": ("voyage", 5),
    "colour_matmul": ("voyage", 6),
    "shapes": ("voyage", 7),
    "geometry": ("voyage", 8),
    "features": ("voyage", 9),
    "bias": ("voyage", 10),
    "chain": ("voyage", 11),
    "batch": ("voyage", 12),
    "explosion": ("voyage", 13),
    "image_to_vector": ("voyage", 14),
    "summary": ("voyage", 15),
    "matmul_forward": ("matmul", 2),
    "matmul_batch": ("matmul", 3),
    "matmul_mlp": ("matmul", 4),
    "nn_nonlinear": ("networks", 1),
    "nn_backward": ("networks", 3),
    "nn_example": ("networks", 4),
    "nn_activations": ("networks", 5),
    "softmax": ("basics", "softmax"),
    "activation": ("basics", "activation"),
    "backprop": ("basics", "backprop"),
    "approximation": ("architectures", 2),
    "chain_rule": ("architectures", 3),
    "regularisation": ("architectures", 4),
    "limits": ("architectures", 5),
    "architectures": ("architectures", 6),
    "losses_optimisers": ("architectures", 7),
    "hyperparameters": ("architectures", 8),
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
    lecture, number = SLIDES[key]
    words = text(lang)
    where = words["where"]
    if not isinstance(number, int):
        place = where["unnumbered"]
    else:
        place = where["slide" if lecture == "voyage" else "section"].format(number=number)
    return fill(where["lecture"], {"title": words["lectures"][lecture], "place": place,
                                   "name": words["slides"][key]})


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
