"""Datasets: source readers, generators, the on-disk format, the sampler and the named builds.

    sources     where the shared puzzle collections live and how to read them
    format      the reference on-disk layout, DatasetMetadata, PuzzleDataset, the atomic streaming writer
    sampler     TrainSampler (reference epoch semantics, exact resume) and eval_batches
    sudoku_gen  exact solver, rating, generator and hard-puzzle mutator
    maze_gen    bit-sliced BFS search for 30x30 mazes with long shortest paths
    build       the named datasets (`hrm data list`), build_dataset and ensure_dataset

Submodules are imported explicitly (nothing is loaded here) so `import hrm.data.format` stays light.
"""
