"""An attribute with one value per thread, for tensors handed from one call to the next within a trace."""

import threading
import weakref


class PerThread:
    """A descriptor: each object's attribute has its own value in every thread (`None` until set).

    Under `tf.distribute`, Keras traces the training step once per replica,
    each in its own thread, and switches between the threads where the
    replicas meet: at the gradients' all-reduce, which comes after the loss
    and before the metrics. An attribute through which one call of a step
    hands a tensor to a later call of the same step (the loss to a metric)
    would meanwhile be overwritten by the next replica's trace.

    Example:

    >>> class Loss:
    ...     last = PerThread()
    """

    def __init__(self):
        self._local = threading.local()

    def __set_name__(self, owner, name):
        self.name = name

    def _values(self):
        if not hasattr(self._local, "values"):
            self._local.values = weakref.WeakKeyDictionary()  # a dead object's value goes with it
        return self._local.values

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        return self._values().get(instance)

    def __set__(self, instance, value):
        if value is None:
            self._values().pop(instance, None)
        else:
            self._values()[instance] = value
