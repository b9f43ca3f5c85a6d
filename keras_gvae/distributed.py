"""Training on several machines: ``tf.distribute.MultiWorkerMirroredStrategy``.

Keras 3's ``fit`` fails under that strategy (keras-team/keras#20585), so
:func:`fit_across_workers` is a small loop in its place: each replica runs the model's own
``train_step`` through ``strategy.run`` on its share of the global batch, and Keras'
``CallbackList`` drives the progress bar, the History and the callbacks as ``fit`` does.
Every worker reads the whole pipeline and keeps its share of each batch, so N workers see
the batches one process sees. Keras' ``evaluate`` fails under the strategy too:
:func:`local_copy` evaluates a copy of the weights outside it.
"""

from __future__ import annotations

import functools

from keras_gvae import backup


class WorkerLostError(RuntimeError):
    """A worker of the cluster stopped answering during training (killed, out of memory, a
    lost machine); the same commands started again resume from the chief's last backup."""


@functools.cache
def multi_worker_strategy():
    """The process's ``MultiWorkerMirroredStrategy``, for the cluster in ``TF_CONFIG`` (one
    worker when it is unset). It configures TensorFlow's collective ops, so it must be made
    before any other TensorFlow operation; there is one per process."""
    import tensorflow as tf

    return tf.distribute.MultiWorkerMirroredStrategy()


def is_chief(strategy):
    """Whether this process is the cluster's chief: the "chief" task, else worker 0 (a
    process without ``TF_CONFIG`` is its own chief)."""
    resolver = strategy.cluster_resolver
    task, index = resolver.task_type, resolver.task_id
    return task in (None, "chief") or (
        task == "worker" and index == 0 and "chief" not in resolver.cluster_spec().as_dict()
    )


def _train_options():
    import tensorflow as tf

    # Each worker keeps its share of every batch (not of the files): the same batches as
    # one process, whatever the source.
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return options


def _mean_over_replicas(strategy, logs):
    import tensorflow as tf

    return {k: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None) for k, v in logs.items()}


def fit_across_workers(
    model,
    dataset,
    epochs,
    steps_per_epoch,
    initial_epoch=0,
    callbacks=(),
    validation_data=None,
    shuffle=False,
    verbose="auto",
):
    """``model.fit(dataset, ...)`` under ``model.distribute_strategy`` (built in its scope),
    for the arguments ``fit_resumable`` passes. ``dataset`` yields global batches, used in
    their order (``shuffle`` must be False); the epoch logs are the train step's metrics at
    the epoch's end and, with ``validation_data``, ``val_*`` from :func:`local_copy`.
    Returns the History."""
    import keras
    import tensorflow as tf

    if shuffle:
        raise ValueError("fit_across_workers uses the dataset's order; shuffle it in the pipeline")
    strategy = model.distribute_strategy
    replicas = strategy.num_replicas_in_sync
    batch = dataset.element_spec[0].shape[0]
    if batch is not None and batch % replicas:
        from keras_gvae.errors import ParameterError

        raise ParameterError(
            "batch_size", f"batch_size={batch} must be a multiple of the {replicas} replicas"
        )
    iterator = iter(
        strategy.experimental_distribute_dataset(dataset.with_options(_train_options()))
    )

    @tf.function
    def train_step(iterator):
        return _mean_over_replicas(strategy, strategy.run(model.train_step, args=(next(iterator),)))

    callbacks = keras.callbacks.CallbackList(
        list(callbacks),
        add_history=True,
        add_progbar=verbose != 0,
        verbose=verbose,
        epochs=epochs,
        steps=steps_per_epoch,
        model=model,
    )
    evaluator = None
    model.stop_training = False
    callbacks.on_train_begin()
    logs = {}
    for epoch in range(initial_epoch, epochs):
        model.reset_metrics()
        callbacks.on_epoch_begin(epoch)
        for step in range(steps_per_epoch):
            callbacks.on_train_batch_begin(step)
            try:
                logs = {k: float(v) for k, v in train_step(iterator).items()}
            except tf.errors.UnavailableError as err:
                cause = next(
                    (line for line in err.message.splitlines() if "aborted by" in line),
                    type(err).__name__,
                )
                raise WorkerLostError(
                    f"epoch {epoch + 1}, step {step + 1}: a worker is gone ({cause.strip()}); "
                    "start every worker again with the same command to resume from the "
                    "chief's last backup"
                ) from err
            callbacks.on_train_batch_end(step, logs)
            if model.stop_training:
                break
        epoch_logs = dict(logs)
        if validation_data is not None:
            evaluator = local_copy(model, evaluator)
            scores = evaluator.evaluate(*validation_data, verbose=0, return_dict=True)
            epoch_logs.update({f"val_{k}": float(v) for k, v in scores.items()})
            # The evaluation's noise was drawn from the model's generators, as in `fit`.
            backup.set_seed_states(model, backup.seed_states(evaluator))
        callbacks.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
    callbacks.on_train_end(logs)
    return model.history


def sync_restore(model, steps):
    """After each worker restored what it has (the chief its backup, the others nothing),
    sets every worker's weights, noise positions and optimizer state to the chief's and
    returns the chief's ``steps``: a resumed run needs the backup on the chief only."""
    import keras
    import tensorflow as tf

    strategy = model.distribute_strategy
    optimizers = [v for v in vars(model).values() if isinstance(v, keras.optimizers.Optimizer)]
    with strategy.scope():
        for optimizer in optimizers:
            if not optimizer.built:
                optimizer.build(model.trainable_variables)
    variables = [v.value for v in model.variables] + [
        v.value for optimizer in optimizers for v in optimizer.variables
    ]

    def chiefs(steps):
        # Global replica 0 is on the chief; the others add zeros (a sum that is exact).
        context = tf.distribute.get_replica_context()
        first = tf.equal(context.replica_id_in_sync_group, 0)
        return [
            context.all_reduce(tf.distribute.ReduceOp.SUM, tf.where(first, v, tf.zeros_like(v)))
            for v in [steps, *variables]
        ]

    @tf.function
    def take_chiefs(steps):
        merged = strategy.experimental_local_results(strategy.run(chiefs, args=(steps,)))[0]
        for variable, value in zip(variables, merged[1:], strict=True):
            variable.assign(value)
        return merged[0]

    return int(take_chiefs(tf.constant(steps, tf.int64)))


def local_copy(model, copy=None):
    """A compiled copy of ``model`` outside its distribution strategy, for ``evaluate`` and
    pictures (Keras' ``evaluate`` fails under MultiWorkerMirroredStrategy): ``copy`` (a new
    one when None) given ``model``'s weights and noise generators' positions."""
    if copy is None:
        copy = type(model).from_config(model.get_config())
        copy.compile()
    copy.set_weights(model.get_weights())
    backup.set_seed_states(copy, backup.seed_states(model))
    return copy
