#!/usr/bin/env python3
"""sklearn_head.py MODEL.joblib [LABEL_MAP.joblib] > HEAD.tsv

Writes the linear head of a scikit-learn LogisticRegression saved with
joblib as text that `offgrid add-head` reads: one line per class,
LABEL<TAB>BIAS<TAB>W_0<TAB>...<TAB>W_n-1, in the order of the model's
classes_ (the order of predict_proba's columns).

Only the Python standard library is used, so setup needs no NumPy and no
scikit-learn (whose pickles also break across versions). joblib stores
each NumPy array as a NumpyArrayWrapper object followed by the array's
raw bytes outside the pickle stream; this reads that layout with
pickle's pure-Python unpickler and stand-ins for every class, and never
runs code from the file. Numeric arrays and object arrays (classes_) are
understood; anything else is an error.

LABEL_MAP is rag-intent-classifier's label_map.joblib, a dict that maps
class ids to intent names, or for some entries names to ids; labels are
resolved as that package's _resolve_label_name does.
"""
import io
import pickle
import struct
import sys


class Stub:
    """Stands in for any class the pickle names: keeps its arguments and state."""

    def __init__(self, *args, **kwargs):
        self.args = args

    def __setstate__(self, state):
        self.state = state


# The few real callables a joblib/NumPy pickle needs; everything else is a
# Stub subclass carrying its dotted name.
SAFE = {
    ("copyreg", "_reconstructor"): lambda cls, base, state: cls(),
    ("builtins", "object"): object,
}


def reconstruct(*args):
    s = Stub()
    s.name = "numpy.ndarray"
    return s


class Unpickler(pickle._Unpickler):
    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, f):
        super().__init__(f)
        self.f = f

    def find_class(self, module, name):
        if (module, name) in SAFE:
            return SAFE[(module, name)]
        if name == "_reconstruct" and module.startswith("numpy"):
            return reconstruct
        return type(name, (Stub,), {"name": module + "." + name})

    def load_build(self):
        # As joblib's NumpyUnpickler: once a NumpyArrayWrapper is built, its
        # array's bytes follow in the file.
        super().load_build()
        top = self.stack[-1]
        if getattr(top, "name", "").endswith("NumpyArrayWrapper"):
            self.stack[-1] = read_array(top.state, self.f)

    dispatch[pickle.BUILD[0]] = load_build


STRUCT = {"f8": "d", "f4": "f", "i8": "q", "i4": "i", "i2": "h", "i1": "b", "u8": "Q", "u4": "I", "u2": "H",
          "u1": "B", "b1": "?"}


def dtype_of(d):
    """(struct code, item size, object?) of a pickled numpy.dtype stub."""
    code = d.args[0]
    order = d.state[1] if hasattr(d, "state") else "<"
    if code in ("O", "O8"):
        return None, 8, True
    if code not in STRUCT:
        raise SystemExit("unsupported array dtype %r" % (code,))
    if order == ">":
        raise SystemExit("big-endian arrays are not supported")
    return STRUCT[code], int(code[1]), False


class Array:
    def __init__(self, shape, values):
        self.shape, self.values = tuple(shape), list(values)

    def rows(self):
        if len(self.shape) == 1:
            return [self.values]
        n = self.shape[1]
        return [self.values[i * n:(i + 1) * n] for i in range(self.shape[0])]


def read_array(state, f):
    shape, order = state["shape"], state["order"]
    _, size, is_object = dtype_of(state["dtype"])
    if is_object:
        nested = Unpickler(f).load()  # joblib pickles object arrays whole
        return Array(nested.state[1], nested.state[4])
    code, size, _ = dtype_of(state["dtype"])
    if state.get("numpy_array_alignment_bytes") is not None:
        pad = f.read(1)[0]
        f.read(pad)
    count = 1
    for n in shape:
        count *= n
    data = f.read(count * size)
    if len(data) != count * size:
        raise SystemExit("array data is cut short")
    values = struct.unpack("<%d%s" % (count, code), data)
    if order == "F" and len(shape) == 2:  # stored column-major: transpose
        r, c = shape
        values = [values[j * r + i] for i in range(r) for j in range(c)]
    return Array(shape, values)


def load(path):
    with open(path, "rb") as f:
        return Unpickler(io.BytesIO(f.read())).load()


def label_name(pred, label_map):
    """rag_intent_classifier.infer._resolve_label_name, for str ids."""
    if label_map is None:
        return pred
    if pred in label_map:
        v = label_map[pred]
        if isinstance(v, str):
            if v.isdigit() or (v.startswith("-") and v[1:].isdigit()):
                return pred
            return v
        return str(v)
    for k, v in label_map.items():
        if str(k) == pred:
            return str(k)
        if str(v) == pred:
            return str(k)
    return pred


def main():
    if len(sys.argv) not in (2, 3):
        raise SystemExit(__doc__.split("\n\n")[0])
    clf = load(sys.argv[1])
    state = getattr(clf, "state", None)
    if not isinstance(state, dict) or "coef_" not in state:
        raise SystemExit("%s holds no linear model (no coef_)" % sys.argv[1])
    if not getattr(clf, "name", "").endswith("LogisticRegression"):
        raise SystemExit("%s is a %s, not a LogisticRegression" % (sys.argv[1], getattr(clf, "name", "?")))
    # predict_proba is a softmax over all classes only for the multinomial
    # model (lbfgs with multi_class 'auto' or 'multinomial' and > 2 classes).
    if state.get("multi_class", "auto") not in ("auto", "multinomial", "deprecated") or \
            state.get("solver", "lbfgs") == "liblinear":
        raise SystemExit("one-vs-rest LogisticRegression is not supported (predict_proba is no softmax)")
    coef, bias, classes = state["coef_"], state["intercept_"], state["classes_"]
    label_map = load(sys.argv[2]) if len(sys.argv) == 3 else None
    if len(coef.shape) != 2 or coef.shape[0] < 3 or bias.shape != (coef.shape[0],) or \
            len(classes.values) != coef.shape[0]:
        raise SystemExit("unexpected shapes: coef_ %s, intercept_ %s, %d classes" %
                         (coef.shape, bias.shape, len(classes.values)))
    out = sys.stdout
    for c, b, w in zip(classes.values, bias.values, coef.rows()):
        name = label_name(str(c), label_map)
        if "\t" in name or "\n" in name:
            raise SystemExit("label %r has a tab or newline" % name)
        out.write(name + "\t" + repr(float(b)) + "\t" + "\t".join(repr(float(x)) for x in w) + "\n")


if __name__ == "__main__":
    main()
