package com.example.model;

import java.io.Serializable;

/** Superclass whose fields are written before the subclass's. */
public class Animal implements Serializable {
    private static final long serialVersionUID = 1L;

    private final String name;
    private final int legs;

    public Animal(String name, int legs) {
        this.name = name;
        this.legs = legs;
    }
}
