"""Objects from plain JSON configs: only known types, only the options their
constructors take. Nothing named in a config is ever imported or evaluated."""
import inspect


def from_config(config, types, noun, where=None):
    """``types[config["type"]](**options)``, refusing unknown types and options.

    ``noun`` names the kind of object ("layer", "loss", ...) in messages, ``where``
    says where the config came from ("layer 2").
    """
    prefix = f"{where or noun}: "
    if not isinstance(config, dict) or not isinstance(config.get("type"), str):
        raise ValueError(f"{prefix}expected an object with a 'type' field, got {config!r}.")
    kind = config["type"]
    if kind not in types:
        raise ValueError(f"{prefix}unknown {noun} type {kind!r}. Known types: "
                         f"{', '.join(types)}.")
    options = {k: v for k, v in config.items() if k != "type"}
    allowed = list(inspect.signature(types[kind]).parameters)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"{prefix}{kind} has no option {unknown[0]!r}. Its options are: "
                         f"{', '.join(allowed) or 'none'}.")
    return types[kind](**options)
