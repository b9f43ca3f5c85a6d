"""Folders as users have them, in the library: flat or in class sub-folders, headers read
before decoding, a seeded held-out fraction, and errors that name the parameter."""

import numpy as np
import pytest

from keras_gvae.data.directory import from_directory, scan_folder, split_held_out
from keras_gvae.data.loaders import DatasetError, DatasetNotFoundError, DatasetParameterError


def _grey(value, size=(6, 6)):
    return np.full(size, value, np.uint8)


def test_a_flat_folder_reads_without_labels_and_inferred_labels_name_the_parameter(tmp_path, files):
    for i in range(3):
        files.png(tmp_path / f"{i}.png", _grey(10 * i))
    x = files.collect(from_directory(tmp_path, labels=None, shuffle=False))
    np.testing.assert_allclose(x[:, 0, 0, 0], np.array([0, 10, 20]) / 255.0, atol=1e-7)
    with pytest.raises(DatasetParameterError, match="its 3 images lie directly in it") as err:
        from_directory(tmp_path)
    assert err.value.parameter == "labels"
    assert "labels=" not in str(err.value)


def test_mixed_sizes_and_channels_name_their_parameters(tmp_path, files):
    files.png(tmp_path / "a.png", _grey(1, (4, 4)))
    files.png(tmp_path / "b.png", _grey(1, (8, 8)))
    with pytest.raises(DatasetParameterError) as err:
        from_directory(tmp_path, labels=None)
    assert err.value.parameter == "image_size" and "image_size=" not in str(err.value)
    files.png(tmp_path / "c.png", np.full((4, 4, 3), 9, np.uint8))
    with pytest.raises(DatasetParameterError) as err:
        from_directory(tmp_path, labels=None, image_size=4)
    assert err.value.parameter == "color_mode" and "color_mode=" not in str(err.value)


def test_scan_folder_reads_sizes_channels_and_classes_from_headers(tmp_path, files):
    files.png(tmp_path / "cats" / "a.png", _grey(1, (4, 6)))
    files.png(tmp_path / "dogs" / "b.png", np.zeros((8, 8, 3), np.uint8))
    files.png(tmp_path / "dogs" / "c.png", _grey(1, (8, 8)))
    folder = scan_folder(tmp_path)
    assert folder.names == ["cats/a.png", "dogs/b.png", "dogs/c.png"]
    assert folder.sizes == [(4, 6), (8, 8)]
    assert folder.channels == [1, 3]
    assert folder.class_names == ["cats", "dogs"]
    files.png(tmp_path / "loose.png", _grey(1))
    assert scan_folder(tmp_path).class_names == []  # an image outside the sub-folders
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetNotFoundError, match="found no image files"):
        scan_folder(tmp_path / "empty")
    with pytest.raises(DatasetNotFoundError, match="no such folder"):
        scan_folder(tmp_path / "absent")


def test_a_text_file_named_png_is_one_line_naming_the_file(tmp_path, files):
    files.png(tmp_path / "good.png", _grey(1))
    (tmp_path / "notes.png").write_text("not an image\n")
    for read in (scan_folder, lambda p: from_directory(p, labels=None)):
        with pytest.raises(DatasetError) as err:
            read(tmp_path)
        message = str(err.value)
        assert message.startswith(f"{tmp_path / 'notes.png'}: not a readable image (")
        assert "\n" not in message and "object at 0x" not in message and "<" not in message


def test_split_held_out_is_exact_disjoint_seeded_and_stable_under_additions():
    names = [f"img_{i:03d}.png" for i in range(200)]
    train, held = split_held_out(names, 0.1, seed=0)
    assert len(held) == 20 and len(train) == 180
    assert set(train) | set(held) == set(names) and not set(train) & set(held)
    assert split_held_out(list(reversed(names)), 0.1, seed=0) == (train, held)
    assert split_held_out(names, 0.1, seed=1)[1] != held
    # 20 more files: a held-out file stays held out unless the margin moved past it.
    _, held_more = split_held_out(names + [f"new_{i}.png" for i in range(20)], 0.1, seed=0)
    assert len(set(held) & set(held_more)) >= 15
    assert split_held_out(["a", "b", "c"], 0.1)[1] != []  # at least one image
    for fraction, names_ in ((0.0, names), (1.0, names), (0.5, ["only.png"])):
        with pytest.raises(DatasetParameterError) as err:
            split_held_out(names_, fraction)
        assert err.value.parameter == "held_out"


def test_subsets_of_a_folder_are_disjoint_and_labelled_alike(tmp_path, files):
    for label, value in (("a", 50), ("b", 150)):
        for i in range(10):
            files.png(tmp_path / label / f"{i}.png", _grey(value + i))
    kwargs = dict(held_out=0.2, split_seed=3, shuffle=False, batch_size=None)
    x_train, y_train = files.collect(from_directory(tmp_path, subset="train", **kwargs).batch(64))
    x_held, y_held = files.collect(from_directory(tmp_path, subset="held_out", **kwargs).batch(64))
    assert len(x_train) == 16 and len(x_held) == 4
    pixels = lambda x: set(np.round(x[:, 0, 0, 0] * 255).astype(int))  # noqa: E731
    assert pixels(x_train) | pixels(x_held) == set(range(50, 60)) | set(range(150, 160))
    assert not pixels(x_train) & pixels(x_held)
    # Labels follow the sub-folder of each image in both subsets.
    for x, y in ((x_train, y_train), (x_held, y_held)):
        np.testing.assert_array_equal(y, (x[:, 0, 0, 0] * 255 > 100).astype(np.int32))
    with pytest.raises(DatasetParameterError) as err:
        from_directory(tmp_path, held_out=0.2)
    assert err.value.parameter == "subset"


def test_images_are_resized_as_they_are_decoded(tmp_path, files):
    files.png(tmp_path / "big.png", np.full((320, 480), 200, np.uint8))
    files.png(tmp_path / "small.png", _grey(100, (20, 30)))
    x = files.collect(from_directory(tmp_path, labels=None, image_size=(16, 24), shuffle=False))
    assert x.shape == (2, 16, 24, 1)
    np.testing.assert_allclose(x[:, 8, 12, 0], [200 / 255, 100 / 255], atol=1 / 255)
