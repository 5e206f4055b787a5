"""Writes the .npy fixtures tests/core/test_npy.cpp reads (numpy 2.4, ml_dtypes 0.6).

Run from this directory: python make_npy_fixtures.py. The files are committed so the C++ tests
need no Python; rerun only to add a case.
"""
import ml_dtypes
import numpy as np

np.save("f32_2x3.npy", np.array([[1.5, -2.25, 3.0], [0.1, -0.0, 1e-30]], dtype=np.float32))
np.save("f64_4.npy", np.array([1.0, -0.5, 1e300, 3.141592653589793], dtype=np.float64))
np.save("i32_5.npy", np.array([-2147483648, -1, 0, 7, 2147483647], dtype=np.int32))
np.save("u32_3.npy", np.array([0, 1, 4294967295], dtype=np.uint32))
# np.save writes an ml_dtypes.bfloat16 array with descr '<V2'.
np.save("bf16_2x2.npy", np.array([[1.0, -2.5], [0.125, 3.0e38]], dtype=ml_dtypes.bfloat16))
np.save("f32_2x3x4.npy", np.arange(24, dtype=np.float32).reshape(2, 3, 4) * 0.5 - 3)
np.save("f32_scalar.npy", np.float32(42.5))
# Files attnn must reject.
np.save("f32_fortran.npy", np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
np.save("f32_bigendian.npy", np.array([1.0, 2.0], dtype=">f4"))
np.save("i16_2.npy", np.array([1, 2], dtype=np.int16))
# Header versions 2.0 (4-byte header length) and 3.0 (utf8 header).
with open("f32_v2.npy", "wb") as f:
    np.lib.format.write_array(f, np.array([1.0, 2.0, 3.0], dtype=np.float32), version=(2, 0))
with open("f32_v3.npy", "wb") as f:
    np.lib.format.write_array(f, np.array([4.0, 5.0], dtype=np.float32), version=(3, 0))
