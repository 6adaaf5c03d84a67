package com.example.model;

import java.io.Externalizable;
import java.io.IOException;
import java.io.ObjectInput;
import java.io.ObjectOutput;

/** Externalizable: everything is block data and objects, no fields. */
public class Point implements Externalizable {
    private static final long serialVersionUID = 1L;

    private int x;
    private int y;
    private String label;

    public Point() {
    }

    public Point(int x, int y, String label) {
        this.x = x;
        this.y = y;
        this.label = label;
    }

    @Override
    public void writeExternal(ObjectOutput out) throws IOException {
        out.writeInt(x);
        out.writeInt(y);
        out.writeObject(label);
    }

    @Override
    public void readExternal(ObjectInput in) throws IOException, ClassNotFoundException {
        x = in.readInt();
        y = in.readInt();
        label = (String) in.readObject();
    }
}
