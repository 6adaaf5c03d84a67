package com.example.model;

import java.io.Serializable;

/** One field of every primitive type, as fields (not boxed objects). */
public class AllPrimitives implements Serializable {
    private static final long serialVersionUID = 1L;

    private final byte b = -2;
    private final char c = 'é';
    private final double d = 2.5;
    private final float f = 1.1f;
    private final int i = -7;
    private final long j = 9007199254740993L;
    private final short s = 300;
    private final boolean z = true;
    private final double nan = Double.NaN;
    private final float negInf = Float.NEGATIVE_INFINITY;
}
