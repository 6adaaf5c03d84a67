package com.example.model;

/** Subclass that hides the superclass field {@code name} with its own. */
public class Dog extends Animal {
    private static final long serialVersionUID = 1L;

    private final String name;
    private final boolean goodBoy;
    private final Color collar;

    public Dog(String name, Color collar) {
        super("dog", 4);
        this.name = name;
        this.goodBoy = true;
        this.collar = collar;
    }
}
