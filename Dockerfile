# Form Coach: the Streamlit dashboard in one image. See docs/hosting.md.
#
#   docker build -t form-coach .
#   docker run -d --name form-coach -p 8501:8501 -v form-coach-data:/data form-coach
#
# Debian 12 (bookworm) on purpose: the package names below are the bookworm ones, and Debian 13
# renamed some libraries (libglib2.0-0 -> libglib2.0-0t64).
FROM python:3.11-slim-bookworm

# System libraries, each needed at import time (checked by the import step further down):
# - libgl1, libglib2.0-0, libsm6, libice6, libxext6: the Qt build inside opencv-contrib-python
#   (mediapipe 0.10.21 depends on it; its own EGL/GLES libraries ship in the wheel)
# - ffmpeg: the command-line tools, for converting clips by hand (PyAV brings its own libraries)
# - tini: PID 1 that forwards signals and reaps the pose worker processes
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ffmpeg libgl1 libglib2.0-0 libsm6 libice6 libxext6 tini \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FORM_COACH_HOME=/data \
    MPLCONFIGDIR=/home/app/.cache/matplotlib \
    GLOG_minloglevel=2 \
    TF_CPP_MIN_LOG_LEVEL=2

WORKDIR /app

# Dependencies first: this layer is rebuilt only when requirements.txt changes.
COPY requirements.txt .
RUN pip install -r requirements.txt

# A non-root user; the data folder (user references, keypoint cache) belongs to it.
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin app \
    && mkdir -p /data \
    && chown app:app /data

# The code stays owned by root: the app cannot change itself.
COPY . .

USER app

# Fail the build, not the first upload, if a shared library is missing: import everything heavy and
# build the bundled pose model once on each backend (this also fills matplotlib's font cache, which
# mediapipe imports).
RUN python -c "import numpy as np, cv2, av, streamlit, coach.results, coach.charts; \
from coach.pose import MediaPipeEstimator; \
[MediaPipeEstimator(backend=b).process(np.zeros((64, 64, 3), np.uint8)) for b in ('openvino', 'mediapipe')]; \
print('imports ok')"

VOLUME ["/data"]
EXPOSE 8501

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"]

ENTRYPOINT ["tini", "--"]
CMD ["streamlit", "run", "app.py", "--server.address=0.0.0.0", "--server.port=8501", "--server.headless=true"]
