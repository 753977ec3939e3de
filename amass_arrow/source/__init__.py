"""Reading an AMASS archive: discover its files, read one .npz into a Sequence."""
