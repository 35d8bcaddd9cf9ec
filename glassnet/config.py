"""Objects from plain JSON configs: only known types, only the options their
constructors take. Nothing named in a config is ever imported or evaluated."""
import functools
import inspect


@functools.lru_cache(maxsize=None)
def accepted_options(cls):
    """The option names ``cls(...)`` takes: its own parameters and, while each class
    passes ``**options`` on to the next, the keyword-only options of those (a layer's
    ``name``, ``trainable`` and ``input_shape``; a recurrent layer's initialisers). A
    class whose config is not its constructor's arguments lists them in
    ``config_options``."""
    if "config_options" in vars(cls):
        return tuple(cls.config_options)
    names = []
    for i, klass in enumerate(k for k in cls.__mro__ if "__init__" in vars(k) and
                              k is not object):
        params = list(inspect.signature(klass.__init__).parameters.values())[1:]
        names += [p.name for p in params if p.name not in names and
                  p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and
                  (i == 0 or p.kind == p.KEYWORD_ONLY)]
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            break
    return tuple(names)


def check_config(config, types, noun, where=None):
    """(cls, options) for a config ``{"type": name, option: value, ...}``, refusing
    unknown types and options. ``noun`` names the kind of object ("layer", "loss", ...)
    in messages, ``where`` says where the config came from ("layer 2")."""
    prefix = f"{where or noun}: "
    if not isinstance(config, dict) or not isinstance(config.get("type"), str):
        shown = repr(config)
        shown = shown if len(shown) <= 200 else shown[:200] + "..."
        raise ValueError(f"{prefix}expected an object with a 'type' field, got {shown}.")
    kind = config["type"]
    if kind not in types:
        raise ValueError(f"{prefix}unknown {noun} type {kind[:100]!r}. Known types: "
                         f"{', '.join(types)}.")
    options = {k: v for k, v in config.items() if k != "type"}
    allowed = accepted_options(types[kind])
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"{prefix}{kind} has no option {unknown[0][:100]!r}. Its options are: "
                         f"{', '.join(allowed) or 'none'}.")
    return types[kind], options


def from_config(config, types, noun, where=None):
    """``types[config["type"]](**options)``, refusing unknown types and options."""
    cls, options = check_config(config, types, noun, where)
    return cls(**options)
