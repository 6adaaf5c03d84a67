package com.example.model;

import java.io.Serializable;

/** Two fields that may point at the same object (a shared reference, not a cycle). */
public class Holder implements Serializable {
    private static final long serialVersionUID = 1L;

    private final Object first;
    private final Object second;

    public Holder(Object first, Object second) {
        this.first = first;
        this.second = second;
    }
}
