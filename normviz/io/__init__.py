"""What crosses the app's edge: activations captured from real models, users' uploaded files, exports."""
