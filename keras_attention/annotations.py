"""Type aliases for the public signatures.

Keras' own signatures name no tensor type: a backend tensor, a NumPy array
and a nested list all pass through `keras.ops`. `Tensor` names that set,
and the docstrings give each one's shape.
"""

from typing import Any

Tensor = Any  # a backend tensor, or what `keras.ops.convert_to_tensor` takes
