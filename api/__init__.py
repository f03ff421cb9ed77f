"""The live classification API: a thin Flask + Flask-SocketIO shell around
``stream_pose_ml.serving``. ``api.app.create_app`` builds it."""
