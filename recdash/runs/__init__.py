"""A run's life: its typed settings (`spec`), the model kinds (`registry`), training and
evaluation (`train`), loading a finished run for serving (`load`), and the background job queue
(`queue`, `jobs`) that trains runs in their own processes."""
